# Cartographer Slack bot. Build: docker build -t cartographer .
# Run:   docker run -e SLACK_BOT_TOKEN=… -e SLACK_SIGNING_SECRET=… -p 3000:3000 -v cartographer-data:/data cartographer
# (Socket Mode: add -e SLACK_APP_TOKEN=xapp-…, no port needed.)
FROM node:20-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3 ships prebuilt binaries for Node 20 on glibc; the toolchain is only a fallback.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    CARTOGRAPHER_DB=/data/bot.db \
    CARTOGRAPHER_ALLOWLIST=/data/allowlist.yaml
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY cli ./cli
COPY engine ./engine
COPY enrichment ./enrichment
COPY rules ./rules
COPY adapters ./adapters
COPY config ./config
COPY bot ./bot
COPY playground ./playground
COPY demo ./demo
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
# Socket Mode opens no port: the check then only confirms the process is alive.
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "if(process.env.SLACK_APP_TOKEN)process.exit(0);fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM from `docker stop` lets running lookups finish and closes the database.
CMD ["node", "bin/cartographer.js", "start"]
