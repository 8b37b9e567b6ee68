/** Unit worker (Node worker thread, started by the supervisor): runs units of the pool's tasks. */
import { workerData } from 'node:worker_threads';
import { unitLoop, type UnitWorkerData } from './loop.js';

unitLoop(workerData as UnitWorkerData, (code) => process.exit(code));
