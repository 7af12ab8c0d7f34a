import path from 'node:path';
import ts from 'typescript';
import { TypedEmitter } from '../../../src/util/typed-emitter';

interface DoorEvents {
  opened: [by: string];
  closed: [];
}

class Door extends TypedEmitter<DoorEvents> {}

const root = path.resolve(__dirname, '../../..');

/** Type-checks `source` as a file of this project (jest only transpiles: the compiler itself must judge). */
function typeErrors(source: string): string[] {
  const file = path.join(root, 'test/unit/util/__typo-check.ts');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: ['node'],
  };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  host.readFile = (f) => (path.resolve(f) === file ? source : read(f));
  const exists = host.fileExists.bind(host);
  host.fileExists = (f) => path.resolve(f) === file || exists(f);
  const program = ts.createProgram([file], options, host);
  return ts
    .getPreEmitDiagnostics(program, program.getSourceFile(file))
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('TypedEmitter', () => {
  test('listeners get the typed arguments; safeEmit contains a throwing listener', () => {
    const d = new Door();
    const seen: string[] = [];
    d.on('opened', (by) => seen.push(by));
    d.on('closed', () => {
      throw new Error('listener bug');
    });
    d.safeEmit('opened', 'alice');
    expect(() => d.safeEmit('closed')).not.toThrow();
    expect(seen).toEqual(['alice']);
  });

  test('a misspelled event name does not compile; the right one does', () => {
    const head = `import type { Room } from '../../../src/conference/room/room';\ndeclare const room: Room;\n`;
    expect(typeErrors(`${head}room.on('participantLeft', () => undefined);\n`)).toEqual([]);
    const errs = typeErrors(`${head}room.on('participantLfet', () => undefined);\n`);
    expect(errs.length).toBeGreaterThan(0);
    expect(errs.join('\n')).toMatch(/participantLfet/);
  }, 60_000);
});
