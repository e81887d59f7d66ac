import { ownerOf, summarize } from '../../bench/profile';

const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });

describe('bench:profile, where the CPU went', () => {
  it('names the owner of a frame: a package, a part of Node, one of our files, V8 itself', () => {
    expect(ownerOf(frame('f', 'file:///w/node_modules/@azure/core-rest-pipeline/dist/x.js'))).toBe(
      '@azure/core-rest-pipeline',
    );
    expect(ownerOf(frame('f', '/w/node_modules/a/node_modules/fast-xml-parser/src/p.js'))).toBe(
      'fast-xml-parser',
    );
    expect(ownerOf(frame('f', 'node:internal/streams/readable'))).toBe('node:streams');
    expect(ownerOf(frame('f', 'node:zlib'))).toBe('node:zlib');
    expect(ownerOf(frame('f', 'file:///work/main/dist/shared/upload/gzip.js'))).toBe(
      'ours: shared/upload/gzip',
    );
    expect(ownerOf(frame('(garbage collector)', ''))).toBe('(garbage collector)');
    expect(ownerOf(frame('writev', ''))).toBe('(native)');
  });

  it('adds self time per owner and function from the samples, leaving idle time out', () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '') },
        { id: 2, callFrame: frame('(idle)', '') },
        { id: 3, callFrame: frame('gzip', 'file:///r/dist/shared/upload/gzip.js', 9) },
        { id: 4, callFrame: frame('send', 'file:///r/node_modules/undici/index.js', 0) },
      ],
      samples: [2, 3, 3, 4, 2, 3],
      timeDeltas: [5000, 1000, 2000, 500, 7000, 1000],
    };
    const s = summarize(profile);
    expect(s.totalMs).toBe(4.5);
    expect(s.byOwner).toEqual([
      { owner: 'ours: shared/upload/gzip', ms: 4 },
      { owner: 'undici', ms: 0.5 },
    ]);
    expect(s.topFunctions[0]).toEqual({ name: 'gzip gzip.js:10', owner: 'ours: shared/upload/gzip', ms: 4 });
  });
});
