import type { Benchmark } from './common';
export const burst: Benchmark = { name: 'burst', run: async () => [] };
