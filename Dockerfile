# syntax=docker/dockerfile:1
# Cartographer Slack bot.
#   Build:  docker build -t cartographer .
#   Run:    docker run --read-only -v cartographer-data:/data -p 3000:3000 \
#             -e SLACK_BOT_TOKEN=xoxb-… -e SLACK_SIGNING_SECRET=… cartographer
#   Socket Mode: add -e SLACK_APP_TOKEN=xapp-… (port 3000 then serves only /healthz, /readyz and /metrics).
# Without a Docker engine, `node bin/rehearse-image.js` performs these same steps (README, "Deploy to AWS").

# An exact Node 24 release: rebuilding the same commit gives the same image (npm ci installs the exact lockfile).
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# 1. build: all dependencies (the toolchain compiles better-sqlite3 when no prebuilt binary fits), the TypeScript
#    compiled to dist/, then the dev dependencies dropped.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# better-sqlite3's sources and object files are only needed to compile it (about 30 MB).
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3 \
 && rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src node_modules/better-sqlite3/build/deps \
      node_modules/better-sqlite3/build/Release/obj node_modules/better-sqlite3/build/Release/obj.target \
      node_modules/better-sqlite3/build/Release/sqlite3.a node_modules/better-sqlite3/build/Release/test_extension.node
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY cli ./cli
COPY config ./config
COPY compose ./compose
COPY engine ./engine
COPY enrichment ./enrichment
COPY bot ./bot
COPY adapters ./adapters
COPY playground ./playground
# The build keeps the bundled rules parsed and validated (dist/rules-snapshot.json) for a faster start.
COPY rules ./rules
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# 2. runtime: compiled JavaScript, production dependencies, the rules and the demo data. A non-root user, nothing
#    written outside the /data volume (runs with --read-only).
FROM ${NODE_IMAGE}
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0 CARTOGRAPHER_DB=/data/bot.db CARTOGRAPHER_ALLOWLIST=/data/allowlist.yaml
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY rules ./rules
COPY demo ./demo
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# Healthy only when the Slack connection is up (Socket Mode) or the receiver listens (HTTP), the store in /data is
# writable and the scheduler ticks: the same checks as GET /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "bin/health-check.js"]
# SIGTERM from `docker stop` lets running lookups finish and closes the database. The young-generation cap keeps
# Node 24 to the memory of Node 20/22 (bin/node-flags.js).
CMD ["node", "--max-semi-space-size=16", "bin/cartographer.js", "start"]
