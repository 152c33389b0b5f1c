// The spec reporter, plus the run's counts written as JSON to $MOCHA_STATS_FILE (when set), so
// .ci/run can add the test counts to its one summary line without parsing mocha's output.
const Mocha = require('mocha');
const { writeFileSync } = require('node:fs');

class SpecWithStats extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const file = process.env.MOCHA_STATS_FILE;
      if (file) writeFileSync(file, JSON.stringify(this.stats));
    });
  }
}

module.exports = SpecWithStats;
