import { busContract } from './contract.js';
import { inProcessBus } from './in-process.js';

// The embedded default: one bus in this process is every "instance".
busContract('in-process', {
  open: () => Promise.resolve(inProcessBus()),
  peer: (bus) => Promise.resolve(bus),
});
