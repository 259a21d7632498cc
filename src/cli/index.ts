#!/usr/bin/env node
/**
 * `fngate` command line: start | check | version.
 *
 *   fngate start -c conf/config.yaml   run in the foreground until SIGTERM/SIGINT
 *   fngate check -c conf/config.yaml   validate the config, exit 1 naming the bad key
 *   fngate stop -c conf/config.yaml    drain and stop the running node
 *   fngate reload -c conf/config.yaml  re-read config.yaml, replace workers one at a time
 *   fngate version
 */
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { runStart } from './start.js';
import { runCheck } from './check.js';
import { runReload, runStop } from './signal.js';

const DEFAULT_CONFIG = 'conf/config.yaml';

const program = new Command();
program
  .name('fngate')
  .description('An APISIX-compatible API gateway for serverless functions')
  .version(VERSION, '-v, --version', 'print the version')
  .showHelpAfterError();

program
  .command('start')
  .description('start the gateway in the foreground')
  .option('-c, --config <file>', 'path to config.yaml', DEFAULT_CONFIG)
  .action(async (opts: { config: string }) => {
    process.exitCode = await runStart(opts.config);
  });

program
  .command('check')
  .description('validate config.yaml and exit')
  .option('-c, --config <file>', 'path to config.yaml', DEFAULT_CONFIG)
  .action(async (opts: { config: string }) => {
    process.exitCode = await runCheck(opts.config);
  });

program
  .command('stop')
  .description('stop the running gateway gracefully (SIGTERM)')
  .option('-c, --config <file>', 'path to config.yaml', DEFAULT_CONFIG)
  .action(async (opts: { config: string }) => {
    process.exitCode = await runStop(opts.config);
  });

program
  .command('reload')
  .description('re-read config.yaml and replace workers one at a time (SIGHUP)')
  .option('-c, --config <file>', 'path to config.yaml', DEFAULT_CONFIG)
  .action(async (opts: { config: string }) => {
    process.exitCode = await runReload(opts.config);
  });

program
  .command('version')
  .description('print the version')
  .action(() => {
    console.log(VERSION);
  });

await program.parseAsync(process.argv);
