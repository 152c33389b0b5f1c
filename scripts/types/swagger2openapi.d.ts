// swagger2openapi ships no types; this is the one call scripts/generate.ts makes.
declare module 'swagger2openapi' {
  interface ConvertOptions {
    patch?: boolean;
    warnOnly?: boolean;
  }
  const swagger2openapi: {
    convertObj(swagger: object, options: ConvertOptions): Promise<{ openapi: object }>;
  };
  export default swagger2openapi;
}
