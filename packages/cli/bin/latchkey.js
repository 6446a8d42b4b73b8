#!/usr/bin/env node
// The `latchkey` command. Node 20 cannot run TypeScript by itself, so the sources run through tsx.
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
