#!/usr/bin/env node
// interop-server: see `interop-server --help` and docs/PROTOCOL.md §5.
import { main } from '../lib/main.js';

main(process.argv.slice(2));
