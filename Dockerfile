# syntax=docker/dockerfile:1
# TMF663 Shopping Cart server: multi-stage build on Debian bookworm (glibc, for better-sqlite3).
#   docker build -t tmf663-shopping-cart .
#   docker run -p 8663:8663 -v carts:/data tmf663-shopping-cart
ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile TypeScript (dev dependencies, native toolchain for better-sqlite3) ----------
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# No install-time telemetry (swagger-ui-dist pulls in @scarf/scarf).
ENV SCARF_ANALYTICS=false
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY generated ./generated
COPY src ./src
RUN npm run build

# --- deps: production dependencies only, native modules compiled for this image ----------------
FROM build AS deps
RUN rm -rf node_modules && npm ci --omit=dev && npm cache clean --force

# --- runtime: no compilers, no dev dependencies, not root ---------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=8663 \
    HOST=0.0.0.0 \
    STORE=sqlite \
    SQLITE_PATH=/data/shopping-cart.db
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
# The image's own "node" user (uid 1000) runs the server; only /data is writable by it.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8663
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8663)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node itself is PID 1's child-free main process: it handles SIGTERM (graceful shutdown).
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
