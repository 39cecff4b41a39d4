#!/usr/bin/env node
// Standalone verifier of a shipslog trail export or inclusion proof. It uses only Node's own
// node:crypto (SHA-256, Ed25519), node:fs and node:readline, and shares no code with shipslog,
// so an auditor can read it whole, check it against docs/offline-verification.md (its steps
// are numbered the same) and re-implement it in any language.
//
//   node tools/verify-trail.mjs trail.jsonl --public-key key.pem [--allow-uncovered]
//   node tools/verify-trail.mjs --proof proof.json --public-key key.pem [--event <deployment id>:<chain_index>]
//
// Exit 0: everything holds. 1: a problem (each printed as a BROKEN line). 2: wrong usage.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const HEX64 = /^[0-9a-f]{64}$/;
const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

// Step 2: RFC 9162 section 2.1.3.2, checking an audit path from a leaf to a root.
function auditPathLeadsToRoot(leaf, index, size, path, root) {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = sha256(Buffer.from([0x00]), leaf); // leaf hash
  for (const hex of path) {
    const p = Buffer.from(hex, 'hex');
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = sha256(Buffer.from([0x01]), p, r); // node hash: sibling on the left
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = sha256(Buffer.from([0x01]), r, p); // sibling on the right
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.toString('hex') === root;
}

function makeVerifier(publicKey) {
  const fingerprint = sha256(publicKey.export({ type: 'spki', format: 'der' })).toString('hex');
  const problems = [];
  const signed = new Map(); // "<deployment id> <chain_index>" -> [{ hash, checkpoint, matched }]
  const chains = new Map(); // deployment id -> { first, last, lastHash, lastAction, lastSigned }
  const anchors = new Map(); // deployment id -> its valid signed anchor with the highest chain_index
  const count = { checkpoints: 0, anchors: 0, chains: 0, events: 0, covered: 0, uncovered: 0, midChain: 0, anchored: 0, purged: 0 };
  let complete = false;
  let newest = null;
  let lastSeq = 0;
  let sawEnd = false;
  const broken = (text) => problems.push(text);

  const matchSigned = (deploymentId, chainIndex, hash, where) => {
    const heads = signed.get(`${deploymentId} ${chainIndex}`);
    if (!heads) return false;
    let ok = true;
    for (const s of heads) {
      s.matched = true;
      if (s.hash !== hash) {
        ok = false;
        broken(`${where}: checkpoint #${s.checkpoint} signed #${chainIndex} of ${deploymentId} as ${s.hash}, the export has ${hash || 'nothing'}`);
      }
    }
    return ok;
  };

  // Step 1: the header.
  function header(h) {
    if (h.format !== 'shipslog-trail' || h.format_version !== 1) broken(`line 1: not a shipslog-trail v1`);
    complete = h.complete === true;
    if (typeof h.public_key_fingerprint === 'string' && h.public_key_fingerprint !== fingerprint) {
      broken(`the export names public key ${h.public_key_fingerprint}, the given key is ${fingerprint}: wrong key`);
    }
  }

  // Step 2: a checkpoint: its key, its Ed25519 signature, each listed head's audit path.
  function checkpoint(c, where) {
    if (count.events > 0) broken(`${where}: checkpoint after the events`);
    count.checkpoints++;
    if (c.version !== 2 || !HEX64.test(String(c.root)) || !/^[0-9a-f]{128}$/.test(String(c.signature)) || !Array.isArray(c.heads)) {
      broken(`${where}: checkpoint #${c.id} is malformed`);
      return;
    }
    if (c.key_id !== fingerprint) {
      broken(`${where}: checkpoint #${c.id} names signing key ${c.key_id}, not the given public key ${fingerprint}: wrong key or forged`);
      return;
    }
    const message = `shipslog-checkpoint v${c.version}\n${c.snapshot}\n${c.chain_count}\n${c.event_count}\n${c.root}`;
    if (!verify(null, Buffer.from(message, 'utf8'), publicKey, Buffer.from(c.signature, 'hex'))) {
      broken(`${where}: checkpoint #${c.id}'s signature does not verify with the given public key: forged or altered`);
      return;
    }
    for (const h of c.heads) {
      const leaf = Buffer.from(`${h.deployment_id} ${h.chain_index} ${h.hash}`, 'utf8');
      if (!HEX64.test(String(h.hash)) || !Array.isArray(h.audit_path) || !auditPathLeadsToRoot(leaf, h.leaf_index, c.chain_count, h.audit_path, c.root)) {
        broken(`${where}: checkpoint #${c.id}: the head #${h.chain_index} of ${h.deployment_id} is not in its signed tree (audit path fails)`);
        continue;
      }
      const key = `${h.deployment_id} ${h.chain_index}`;
      signed.set(key, [...(signed.get(key) ?? []), { hash: h.hash, checkpoint: c.id, matched: false }]);
    }
    if (!newest || c.id > newest.id) newest = c;
  }

  // Step 3: a purged chain's anchor: its key, its Ed25519 signature over the rebuilt anchor message.
  function anchor(a, where) {
    if (count.events > 0) broken(`${where}: anchor after the events`);
    count.anchors++;
    if (!Number.isInteger(a.chain_index) || a.chain_index < 1 || !HEX64.test(String(a.hash)) || !(a.state_sha256 === 'null' || HEX64.test(String(a.state_sha256)))
      || typeof a.removed !== 'boolean' || typeof a.judged_at !== 'string' || !/^[0-9a-f]{128}$/.test(String(a.signature))) {
      broken(`${where}: anchor #${a.id} is malformed`);
      return;
    }
    if (a.key_id !== fingerprint) {
      broken(`${where}: anchor #${a.id} names signing key ${a.key_id}, not the given public key ${fingerprint}: wrong key or forged`);
      return;
    }
    const message = `shipslog-anchor v1\n${a.deployment_id}\n${a.chain_index}\n${a.hash}\n${a.state_sha256}\n${a.removed ? 'removed' : 'open'}\n${a.judged_at}`;
    if (!verify(null, Buffer.from(message, 'utf8'), publicKey, Buffer.from(a.signature, 'hex'))) {
      broken(`${where}: anchor #${a.id}'s signature does not verify with the given public key: forged or altered`);
      return;
    }
    const held = anchors.get(a.deployment_id);
    if (!held || a.chain_index > held.chain_index) anchors.set(a.deployment_id, a);
  }

  // Step 4: an event: its place in its chain, its hash, its link, and any signed head there.
  function event(e, where) {
    count.events++;
    if (!HEX64.test(String(e.hash)) || !(e.prev_hash === '' || HEX64.test(String(e.prev_hash))) || typeof e.payload !== 'string' || !Number.isInteger(e.chain_index)) {
      broken(`${where}: malformed event`);
      return;
    }
    const id = `#${e.chain_index} of ${e.deployment_id}`;
    let s = chains.get(e.deployment_id);
    if (!s) {
      count.chains++;
      s = { first: e.chain_index, last: e.chain_index - 1, lastHash: e.prev_hash, lastAction: undefined, lastSigned: 0 };
      chains.set(e.deployment_id, s);
      if (e.chain_index === 1 && e.prev_hash !== '') broken(`${where}: event ${id} is a chain's first but names a previous hash`);
      if (e.chain_index > 1) {
        count.midChain++;
        if (e.prev_hash === '') broken(`${where}: event ${id} starts mid-chain without the previous hash`);
        // A purged prefix: the chain's signed anchor names the last removed event and its hash.
        const a = anchors.get(e.deployment_id);
        const purged = a !== undefined && a.chain_index === e.chain_index - 1;
        if (purged && a.hash !== e.prev_hash) broken(`${where}: event ${id} names previous hash ${e.prev_hash}, but anchor #${a.id} signed #${a.chain_index} as ${a.hash}: altered`);
        else if (purged) {
          count.purged++;
          if (a.removed) s.lastAction = 'removed';
        } else if (complete) broken(`${where}: a complete export, but chain ${e.deployment_id} starts at #${e.chain_index} with no signed anchor before it: its first events are missing`);
        if (matchSigned(e.deployment_id, e.chain_index - 1, e.prev_hash, where) || purged) {
          count.anchored++;
          s.lastSigned = e.chain_index - 1;
        }
      }
    } else if (e.chain_index !== s.last + 1) {
      broken(e.chain_index <= s.last ? `${where}: event ${id} follows #${s.last}: lines reordered or repeated`
        : `${where}: event ${id} follows #${s.last}: ${e.chain_index - s.last - 1} event(s) missing`);
    }
    if (e.prev_hash !== s.lastHash) broken(`${where}: event ${id} names a previous hash that is not the previous event's hash`);
    // The hash: SHA-256 of the previous hash's 32 bytes (none for #1), then the payload's UTF-8 bytes as they are.
    const computed = sha256(Buffer.from(e.prev_hash, 'hex'), Buffer.from(e.payload, 'utf8')).toString('hex');
    if (computed !== e.hash) broken(`${where}: event ${id} does not match its hash: its payload or hash was altered`);
    let p = {};
    try {
      p = JSON.parse(e.payload); // read only for these fields; the hash above used the text as is
    } catch {
      broken(`${where}: event ${id}'s payload is not JSON`);
    }
    if (p.deployment_id !== e.deployment_id || p.chain_index !== e.chain_index) broken(`${where}: event ${id}'s payload is #${p.chain_index} of ${p.deployment_id}: moved`);
    if (typeof p.seq !== 'number' || p.seq <= lastSeq) broken(`${where}: event ${id} has seq ${p.seq} after seq ${lastSeq}: lines reordered`);
    if (typeof p.seq === 'number') lastSeq = Math.max(lastSeq, p.seq);
    // shipslog's own system chain (all-zero id: purge records) has no deployment to create.
    if (e.chain_index === 1 && p.action !== 'created' && e.deployment_id !== '00000000-0000-0000-0000-000000000000') broken(`${where}: event ${id} is ${p.action}, not created`);
    if (s.lastAction === 'removed') broken(`${where}: event ${id} follows the chain's removed event`);
    if (matchSigned(e.deployment_id, e.chain_index, e.hash, where)) s.lastSigned = e.chain_index;
    s.last = e.chain_index;
    s.lastHash = e.hash;
    s.lastAction = p.action;
  }

  function line(text, n) {
    if (text.trim() === '') return;
    let v;
    try {
      v = JSON.parse(text);
    } catch {
      broken(`line ${n}: not JSON`);
      return;
    }
    if (n === 1 && v.type !== 'header') broken('line 1 is not the header');
    if (sawEnd) broken(`line ${n}: follows the end line`);
    if (v.type === 'header') header(v);
    else if (v.type === 'checkpoint') checkpoint(v, `line ${n}`);
    else if (v.type === 'anchor') anchor(v, `line ${n}`);
    else if (v.type === 'event') event(v, `line ${n}`);
    else if (v.type === 'end') {
      sawEnd = true;
      if (v.chains !== count.chains || v.events !== count.events) broken(`line ${n}: the end line counts ${v.chains} chain(s) and ${v.events} event(s), the file holds ${count.chains} and ${count.events}`);
    } else broken(`line ${n}: unknown line type ${JSON.stringify(v.type)}`);
  }

  // Step 5: after the last line.
  function finish(requireEnd) {
    if (requireEnd && !sawEnd) broken('the file ends without its end line: cut short');
    for (const [key, heads] of signed) {
      const [deploymentId, index] = key.split(' ');
      const a = anchors.get(deploymentId);
      for (const s of heads) {
        if (s.matched) continue;
        // A head inside a purged prefix: gone with it. The anchor's own place must hold the anchor's hash.
        if (a && Number(index) < a.chain_index) continue;
        if (a && Number(index) === a.chain_index) {
          if (s.hash !== a.hash) broken(`checkpoint #${s.checkpoint} signed head ${key.replace(' ', ' #')} as ${s.hash}, but anchor #${a.id} signed it as ${a.hash}: altered`);
          continue;
        }
        broken(`checkpoint #${s.checkpoint} signed head ${key.replace(' ', ' #')} (${s.hash}), which is not in the export: events removed`);
      }
    }
    if (complete && newest && new Set(newest.heads.map((h) => h.leaf_index)).size !== newest.chain_count) {
      broken(`a complete export, but the newest checkpoint #${newest.id} lists ${newest.heads.length} of its ${newest.chain_count} chain heads`);
    }
    for (const s of chains.values()) {
      const n = s.last - s.first + 1;
      const covered = Math.max(0, Math.min(n, s.lastSigned - s.first + 1));
      count.covered += covered;
      count.uncovered += n - covered;
    }
    return { problems, count, fingerprint };
  }

  return { line, checkpoint, event, finish };
}

function usage(message) {
  process.stderr.write(`verify-trail: ${message}\nusage: node tools/verify-trail.mjs trail.jsonl --public-key key.pem [--allow-uncovered]\n       node tools/verify-trail.mjs --proof proof.json --public-key key.pem [--event <deployment id>:<chain_index>]\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) usage(`${name} needs a value`);
  args.splice(i, 2);
  return value;
};
const flag = (name) => {
  const i = args.indexOf(name);
  if (i !== -1) args.splice(i, 1);
  return i !== -1;
};
const keyFile = option('--public-key');
const proofFile = option('--proof');
const expectedEvent = option('--event');
const allowUncovered = flag('--allow-uncovered');
if (!keyFile) usage('--public-key is required');
let publicKey;
try {
  publicKey = createPublicKey(readFileSync(keyFile, 'utf8'));
} catch (err) {
  usage(`cannot read a public key from ${keyFile}: ${err.message}`);
}
if (publicKey.asymmetricKeyType !== 'ed25519') usage('the public key must be Ed25519');
const v = makeVerifier(publicKey);

if (proofFile) {
  // A proof: its checkpoint (step 2), its events from the proven one to the signed head (step 4).
  if (args.length > 0) usage(`unexpected ${args.join(' ')}`);
  let proof;
  try {
    proof = JSON.parse(readFileSync(proofFile, 'utf8'));
  } catch (err) {
    usage(`${proofFile} is not a JSON proof: ${err.message}`);
  }
  if (proof.type !== 'shipslog-inclusion-proof' || proof.format_version !== 1 || !Array.isArray(proof.events) || proof.events.length === 0 || !proof.checkpoint) {
    console.log('BROKEN not a shipslog-inclusion-proof v1 with a checkpoint and events');
    process.exit(1);
  }
  v.checkpoint(proof.checkpoint, 'checkpoint');
  proof.events.forEach((e, i) => v.event(e, `events[${i}]`));
  const { problems, count, fingerprint } = v.finish(false);
  if (count.chains > 1) problems.push('the events belong to more than one chain');
  if (problems.length === 0 && count.uncovered > 0) problems.push('the events do not end at a head the checkpoint signed: the event is not covered');
  const first = proof.events[0];
  if (expectedEvent !== undefined && `${first.deployment_id}:${first.chain_index}` !== expectedEvent.toLowerCase()) {
    problems.push(`the proof is for event #${first.chain_index} of ${first.deployment_id}, not ${expectedEvent}`);
  }
  for (const p of problems) console.log(`BROKEN ${p}`);
  if (problems.length > 0) process.exit(1);
  console.log(`ok: event #${first.chain_index} of ${first.deployment_id} (hash ${first.hash}) is covered by checkpoint #${proof.checkpoint.id}, signed with key ${fingerprint}`);
} else {
  if (args.length !== 1) usage('give one trail file');
  let n = 0;
  for await (const text of createInterface({ input: createReadStream(args[0]), crlfDelay: Infinity })) {
    v.line(text, ++n);
    if (n % 100000 === 0 && process.stderr.isTTY) process.stderr.write(`\r${n} lines checked`);
  }
  if (n >= 100000 && process.stderr.isTTY) process.stderr.write('\r\u001b[K');
  const { problems, count, fingerprint } = v.finish(n > 0);
  if (n === 0) problems.push('the file is empty');
  for (const p of problems) console.log(`BROKEN ${p}`);
  if (count.anchors > 0) console.log(`checked ${count.anchors} signed anchor(s) of purged chain prefixes`);
  console.log(`checked ${count.checkpoints} checkpoint(s), ${count.chains} chain segment(s), ${count.events} event(s) with key ${fingerprint}`);
  if (count.midChain > 0) console.log(`${count.midChain} segment(s) start mid-chain: ${count.anchored} from a signed head or anchor (${count.purged} after a purge), ${count.midChain - count.anchored} from an unsigned previous hash`);
  console.log(`${count.covered} event(s) covered by a signed checkpoint, ${count.uncovered} after the last signed head of their chain`);
  if (problems.length > 0) process.exit(1);
  if (count.uncovered > 0 && !allowUncovered) {
    console.log(`NOT COVERED: ${count.uncovered} event(s) are linked but no checkpoint here signs them (--allow-uncovered to accept)`);
    process.exit(1);
  }
  console.log('ok: every hash, link, signature and signed head checks');
}
