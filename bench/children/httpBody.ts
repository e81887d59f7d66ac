/** The 4 KB CSV body of request `i` in the HTTP scenario. */
export function body4k(i: number): Buffer {
  let text = '';
  for (let row = 0; text.length < 4096; row++)
    text += `${i},${row},user-${(i * 31 + row) % 1000},${(row * 37) % 1000}\n`;
  return Buffer.from(text.slice(0, 4095) + '\n');
}
