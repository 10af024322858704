# anvil-webhooks: one image for migrate, api and worker (docker-compose.yml picks the command).
# Stage 1 compiles the TypeScript to dist/ and bundles the workflow code; stage 2 holds only the
# production dependencies and the compiled JS: no TypeScript, no compiler, no sources at run time.
# Node 24 (LTS): the compiled processes were run on Node 24.22 against the real Temporal server here.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm's postinstall patches @temporalio/worker (no sandbox watchdog thread per activation; README).
COPY scripts/patch-temporal-worker.mjs ./scripts/
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY domain ./domain
COPY infra ./infra
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY worker ./worker
COPY scripts ./scripts
# The Settings pages' sources: npm run build bundles them into dist/portal (served by the API).
COPY web ./web
RUN npm run build

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY scripts/patch-temporal-worker.mjs ./scripts/
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error && npm cache clean --force
COPY migrations ./migrations
COPY --from=build /app/dist ./dist
# Workers load the prebuilt workflow bundle instead of bundling at start.
ENV ANVIL_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
# The JS heap's ceiling (scripts/node-flags.ts says why); override NODE_OPTIONS to raise it.
ENV NODE_OPTIONS=--max-old-space-size=1024
USER node
EXPOSE 3000
CMD ["node", "dist/api/main.js"]
