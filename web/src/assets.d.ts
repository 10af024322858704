// esbuild bundles the stylesheet imported by main.tsx into its own CSS file.
declare module '*.css';
