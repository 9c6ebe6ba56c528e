#!/usr/bin/env node
// The application entry: reflect-metadata is imported here, once, before anything uses inversify.
import 'reflect-metadata';
import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2));
