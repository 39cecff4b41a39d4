# shipslog runs its TypeScript sources directly (Node's type stripping), so the image is the
# repository's runtime files plus production dependencies: no build step.
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# The postinstall script applies patches/ with patch-package, a devDependency: install with
# the dev dependencies (NODE_ENV=production would leave them out), then drop them.
COPY patches ./patches
RUN npm ci --include=dev --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY sql ./sql
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
# DATABASE_URL is expected in a container; the embedded server is for local use.
CMD ["node", "bin/shipslog.js", "serve"]
