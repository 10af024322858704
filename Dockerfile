# One image for both processes: `npm run api` or `npm run worker` (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund --loglevel=error
COPY . .
# Workers load the prebuilt workflow bundle instead of bundling at start.
RUN npm run build
ENV ANVIL_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
USER node
CMD ["npm", "run", "api"]
