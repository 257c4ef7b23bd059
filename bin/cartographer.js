#!/usr/bin/env node
// Entry point for `npx cartographer`: runs the TypeScript sources directly through tsx,
// so a fresh `npm ci` is all a user needs (no build step to forget).
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
