# shipslog runs its TypeScript sources directly (Node's type stripping), so the image is the
# repository's runtime files plus production dependencies: no build step.
#
# test/image/image.test.ts reproduces this file set without a container runtime: it copies
# exactly what the COPY lines below name, runs the `npm ci` of the RUN line in a temporary
# directory, and starts the CMD there against PostgreSQL. A RUN line it does not know makes
# that test fail: teach it the new line.
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# npm ci's postinstall applies patches/ (patch-package, a production dependency for this).
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY sql ./sql
# /data: the data directory of docker-compose.yml (the fingerprint key when none is given).
RUN mkdir -p /data && chown 1000:1000 /data
# Numeric: Kubernetes checks runAsNonRoot against a number, never a name. 1000:1000 is the
# node images' `node` user; deploy/shipslog.yaml runs as the same.
USER 1000:1000
ENV SHIPSLOG_DATA_DIR=/data
# Memory (RELIABILITY.md, item 7): left to itself V8 sizes its heap from the memory it sees; on
# a 24 GB machine that was 2 x 32 MB of young generation, and an old generation that grew lazily
# to 450 MB under 50 connections. A 2 MB semi-space and a 160 MB old generation keep the server
# near 130 MB idle and under 200 MB at 50 connections, flat (npm run soak runs it with this
# line); two malloc arenas instead of one per thread save ~7 MB more. deploy/ sets the same.
ENV NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=160" MALLOC_ARENA_MAX=2
EXPOSE 8080
# DATABASE_URL (or the runtime logins' URLs) is expected in a container; the embedded server
# is for local use.
CMD ["node", "bin/shipslog.js", "serve"]
