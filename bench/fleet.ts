import type { Benchmark } from './common';
export const fleetReconcile: Benchmark = { name: 'fleet', run: async () => [] };
