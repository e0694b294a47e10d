// `make demo`: the same as `pnpm cd4ml demo`.
process.argv.splice(2, 0, 'demo');
await import('../client/src/cli.ts');
