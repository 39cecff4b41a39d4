#!/usr/bin/env node
// Entry point: checks the Node.js version in plain JavaScript before any TypeScript loads.
import { checkNode } from './check-node.js';

checkNode();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
// A finished command exits even if a library left a timer or socket behind.
process.exit(process.exitCode ?? 0);
