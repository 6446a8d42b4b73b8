#!/usr/bin/env node
// The `latchkey` command, compiled by `npm install` (packages/cli/scripts/bundle.mjs).
process.setSourceMapsEnabled(true)
await import('../dist/latchkey.js')
