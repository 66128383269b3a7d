/**
 * A zip archive built by hand, for the tests of the XLSX zip-bomb guard: entries already
 * deflated (raw), each with the uncompressed size its headers claim; `declared` overrides the
 * end record's entry count, `prefix` / `suffix` put bytes before or after the archive.
 */
export function zipOf(
  entries: readonly { name: string; deflated: Buffer; claimedSize: number }[],
  o: { declared?: number; prefix?: Buffer; suffix?: Buffer } = {},
): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt32LE(e.deflated.length, 18);
    local.writeUInt32LE(e.claimedSize, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(e.deflated.length, 20);
    central.writeUInt32LE(e.claimedSize, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42); // where its local header is
    locals.push(local, name, e.deflated);
    centrals.push(central, name);
    offset += local.length + name.length + e.deflated.length;
  }
  const directory = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(o.declared ?? entries.length, 8);
  eocd.writeUInt16LE(o.declared ?? entries.length, 10);
  eocd.writeUInt32LE(directory.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([
    o.prefix ?? Buffer.alloc(0),
    ...locals,
    directory,
    eocd,
    o.suffix ?? Buffer.alloc(0),
  ]);
}
