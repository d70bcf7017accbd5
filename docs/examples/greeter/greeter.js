#!/usr/bin/env node
// Greeter: a small b10 module. It registers its spec with the config
// manager, takes its configuration (and every change to it), answers the
// `greet` command, and stops on `shutdown` or when the bus is gone for good.
import { ModuleSession } from 'b10';

// Commands may arrive as soon as the module is registered, before start()
// below has returned: handlers keep what they need in their own variables.
let greeting = 'Hello';
let module;

module = await ModuleSession.start({
  spec: {
    module_name: 'Greeter',
    module_description: 'Greets people',
    config_data: [
      { item_name: 'greeting', item_type: 'string', item_optional: false, item_default: 'Hello' },
    ],
    commands: [
      {
        command_name: 'greet',
        command_description: 'Greet someone',
        command_args: [{ item_name: 'name', item_type: 'string', item_optional: false, item_default: '' }],
      },
      { command_name: 'shutdown', command_description: 'Stop the module', command_args: [] },
    ],
  },
  // The whole configuration, defaults filled in; throwing refuses it.
  onConfig: (config) => {
    if (config.greeting === '') throw new Error('greeting must not be empty');
    greeting = config.greeting;
  },
  // Arguments arrive checked against the spec; the return value is the answer.
  onCommand: (name, args) => {
    if (name === 'shutdown') {
      setImmediate(() => void module?.close());
      return undefined;
    }
    return `${greeting}, ${args.name}!`;
  },
});
await module.done;
process.exit(0);
