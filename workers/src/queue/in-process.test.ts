import { queueContract } from './contract.js';
import { inProcessQueue } from './in-process.js';

queueContract('in-process', {
  open: () => Promise.resolve(inProcessQueue()),
  peer: (q) => Promise.resolve(q),
});
