#!/usr/bin/env node
// interop-client: see `interop-client --help` and docs/PROTOCOL.md §6-7.
import { main } from '../lib/main.js';

main(process.argv.slice(2));
