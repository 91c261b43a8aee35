// imapflow (a real Node IMAP client) against sluice with CONDSTORE and
// QRESYNC switched on, as a mail app resynchronising would use them.
// Run by server/imap's TestImapflowCondStore:
//   node condstore.cjs HOST PORT CAFILE USER PASS
// IMAPFLOW_DIR names the npm prefix imapflow is installed in. Each step
// prints "ok NAME"; the first failure throws and exits non-zero.
'use strict';
const fs = require('fs');
const path = require('path');
const { ImapFlow } = require(path.join(process.env.IMAPFLOW_DIR, 'node_modules', 'imapflow'));

const [host, port, caFile, user, pass] = process.argv.slice(2);

function check(name, cond, detail) {
    if (!cond) {
        throw new Error(`${name} failed: ${JSON.stringify(detail, (k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
    }
    console.log(`ok ${name}`);
}

function connect() {
    return new ImapFlow({
        host, port: Number(port), secure: true, qresync: true, logger: false,
        auth: { user, pass },
        tls: { ca: [fs.readFileSync(caFile)], servername: 'localhost' },
    });
}

async function fetchAll(client, range, options) {
    const out = [];
    for await (const msg of client.fetch(range, { uid: true, flags: true }, options)) {
        out.push(msg);
    }
    return out;
}

async function main() {
    const a = connect();
    await a.connect();
    check('enabled', a.enabled.has('CONDSTORE') && a.enabled.has('QRESYNC'), [...a.enabled]);

    const box = await a.mailboxOpen('INBOX');
    const h0 = box.highestModseq;
    const validity = box.uidValidity;
    check('highestmodseq', typeof h0 === 'bigint' && h0 > 0n, box);
    const before = await fetchAll(a, '1:*', { uid: true });
    check('four messages', before.length === 4, before);
    const uids = before.map(m => m.uid);

    const expunged = [];
    a.on('expunge', e => expunged.push(e));

    await a.messageFlagsAdd({ uid: uids[0] }, ['\\Flagged'], { uid: true });
    const changed = await fetchAll(a, '1:*', { uid: true, changedSince: h0 });
    check('changedsince', changed.length === 1 && changed[0].uid === uids[0] && changed[0].modseq > h0 &&
        changed[0].flags.has('\\Flagged'), changed);

    // UNCHANGEDSINCE h0: the second message has not changed since and is
    // stored; the first has and keeps its flags.
    await a.messageFlagsAdd({ uid: `${uids[0]}:${uids[1]}` }, ['\\Seen'], { uid: true, unchangedSince: h0 });
    const after = await fetchAll(a, `${uids[0]}:${uids[1]}`, { uid: true });
    check('unchangedsince', !after[0].flags.has('\\Seen') && after[1].flags.has('\\Seen'), after);

    await a.messageDelete({ uid: uids[2] }, { uid: true });
    await a.noop();
    check('vanished', expunged.some(e => e.vanished && e.uid === uids[2]), expunged);
    const st = await a.status('INBOX', { highestModseq: true, messages: true });
    check('status', st.messages === 3 && st.highestModseq === a.mailbox.highestModseq && st.highestModseq > h0, st);

    // A second client that last saw h0 resynchronises in its SELECT.
    const b = connect();
    await b.connect();
    const flags = [];
    const gone = [];
    b.on('flags', e => flags.push(e));
    b.on('expunge', e => gone.push(e));
    const rebox = await b.mailboxOpen('INBOX', { changedSince: h0, uidValidity: validity });
    check('qresync select', rebox.highestModseq === st.highestModseq && rebox.exists === 3, rebox);
    check('vanished earlier', gone.some(e => e.vanished && e.earlier && e.uid === uids[2]), gone);
    const flagged = flags.map(e => e.uid).sort((x, y) => x - y);
    check('changed flags', flagged.length === 2 && flagged[0] === uids[0] && flagged[1] === uids[1] &&
        flags.every(e => e.modseq > h0), flags);

    await b.logout();
    await a.logout();
}

main().catch(err => {
    console.error(err);
    process.exit(1);
});
