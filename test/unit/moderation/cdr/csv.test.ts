import { csvCell, toCsv } from '../../../../src/moderation/cdr/csv';

describe('CSV writer (RFC 4180)', () => {
  it('writes plain cells as they are and empties for null/undefined', () => {
    expect(csvCell('alice')).toBe('alice');
    expect(csvCell(42)).toBe('42');
    expect(csvCell(-3.5)).toBe('-3.5');
    expect(csvCell(true)).toBe('true');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(Number.NaN)).toBe('');
  });

  it('quotes cells with commas, quotes and line breaks, doubling quotes', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
    expect(csvCell('cr\r\nlf')).toBe('"cr\r\nlf"');
  });

  it('neutralises formulas: text starting with = + - @ tab or CR gets a leading quote', () => {
    expect(csvCell('=HYPERLINK("http://x","y")')).toBe('"\'=HYPERLINK(""http://x"",""y"")"');
    expect(csvCell('+1 555')).toBe("'+1 555");
    expect(csvCell('-2+3')).toBe("'-2+3");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tcmd')).toBe("'\tcmd");
    expect(csvCell('a=b')).toBe('a=b');
  });

  it('writes a header row and CRLF-terminated records', () => {
    expect(
      toCsv(
        ['id', 'name'],
        [
          ['1', 'Alice, Bob'],
          ['2', null],
        ],
      ),
    ).toBe('id,name\r\n1,"Alice, Bob"\r\n2,\r\n');
    expect(toCsv(['only'], [])).toBe('only\r\n');
  });
});
