# syntax=docker/dockerfile:1
# snowgate registry image: `docker build -t snowgate .`
# Runs `snowgate serve --config /etc/snowgate/snowgate.yaml`; mount your configuration there.

# Node 24, the current LTS (20, the floor snowgate still supports, is past its end of life).
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: compile TypeScript, then keep only the runtime dependencies -------------------------
FROM ${NODE_IMAGE} AS build
# better-sqlite3 is a native addon: it builds from source when no prebuilt binary fits.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Dependencies first, so a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY ui ./ui
COPY config ./config
RUN npm run build \
    && npm prune --omit=dev --no-audit --no-fund

# --- runtime ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# A fixed uid, so volumes and mounted files can be given to it ahead of time.
RUN groupadd --system --gid 10001 snowgate \
    && useradd --system --uid 10001 --gid snowgate --home-dir /var/lib/snowgate --shell /usr/sbin/nologin snowgate \
    && mkdir -p /etc/snowgate /var/lib/snowgate/data /var/lib/snowgate/nats /var/lib/snowgate/nats-server \
    && chown -R snowgate:snowgate /var/lib/snowgate
WORKDIR /app
# package.json comes along: it makes dist/ ES modules and gives `--version`. The code stays
# root-owned, so the service cannot rewrite itself.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/console ./dist/console
COPY --from=build /app/config ./config
USER snowgate:snowgate
# SQLite state (store.path: /var/lib/snowgate/data/snowgate.db). NATS keys from `snowgate init`
# go in /var/lib/snowgate/nats, mounted where they are used; nats-server's conf alone in
# /var/lib/snowgate/nats-server (see docker-compose.yml).
VOLUME ["/var/lib/snowgate/data"]
EXPOSE 8080
# Assumes server.port 8080 in the configuration; node's own fetch, as the image has no curl.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve", "--config", "/etc/snowgate/snowgate.yaml"]
