#!/usr/bin/env node
import { Command } from 'commander';
import { runProgram, VERSION } from '../options.js';
import { reportError } from './common.js';
import { bossCommands } from './boss.js';
import { configCommand } from './config.js';
import { ctlCommand } from './ctl.js';
import { fleetCommand } from './fleet.js';
import { listenCommand } from './listen.js';
import { membersCommand } from './members.js';
import { pingCommand } from './ping.js';
import { rawCommand } from './raw.js';
import { sendCommand } from './send.js';
import { statsCommand } from './stats.js';
import { tsigCommand } from './tsig.js';
import { userCommand } from './user.js';
import { zoneCommand } from './zone.js';

const program = new Command('b10')
  .description('Talk to a running b10 system over its message bus.')
  .version(VERSION)
  .showHelpAfterError()
  .addCommand(sendCommand())
  .addCommand(listenCommand())
  .addCommand(membersCommand())
  .addCommand(pingCommand())
  .addCommand(rawCommand())
  .addCommand(configCommand())
  .addCommand(zoneCommand())
  .addCommand(tsigCommand())
  .addCommand(userCommand())
  .addCommand(ctlCommand())
  .addCommand(statsCommand())
  .addCommand(fleetCommand());
for (const command of bossCommands()) program.addCommand(command);

// Piped into `head`, say: the reader leaving is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});

runProgram(program, reportError);
