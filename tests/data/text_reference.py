#!/usr/bin/python3
"""Reads a text the way data/README.md says, in plain Python, and compares with data/ (text_dump).

Exits 1 on any difference. This is the proof that the documented split, vocabulary and Brown
tag stripping can be reproduced outside tbptt.

    text_reference.py TEXT_DUMP text PATH LEVEL F_TRAIN F_VALID F_TEST MIN_COUNT MAX_VOCAB
    text_reference.py TEXT_DUMP brown CACHE
"""
import collections
import math
import os
import re
import subprocess
import sys


def tokens(text, level):
    if level == 'char':
        return list(text)
    lines = text.split('\n')
    if lines[-1] == '':
        lines.pop()
    out = []
    for line in lines:
        out += [w.decode('utf-8') for w in line.encode('utf-8').split()] + ['<eos>']
    return out


def vocabulary(train, level, min_count, max_vocab):
    if level == 'char':
        return ['<unk>'] + sorted(set(train))
    counts = collections.Counter(train)
    words = [w for w, c in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))
             if c >= min_count and w not in ('<unk>', '<eos>')]
    vocab = ['<unk>', '<eos>'] + words
    return vocab[:max_vocab] if max_vocab > 0 else vocab


def expected_text(path, level, fractions, min_count, max_vocab):
    text = open(path, 'rb').read().decode('utf-8')
    toks = tokens(text, level)
    n = len(toks)
    n_train = math.floor(fractions[0] * n)
    n_valid = math.floor(fractions[1] * n)
    parts = [toks[:n_train], toks[n_train:n_train + n_valid], toks[n_train + n_valid:]]
    vocab = vocabulary(parts[0], level, min_count, max_vocab)
    index = {s: i for i, s in enumerate(vocab)}
    ids = [[index.get(t, index['<unk>']) for t in part] for part in parts]
    return vocab, ids


def brown_plain(cache):
    folder = os.path.join(cache, 'package')
    names = sorted(f for f in os.listdir(folder) if re.fullmatch(r'c[a-z][0-9][0-9]', f))
    lines = []
    for name in names:
        text = open(os.path.join(folder, name), 'rb').read().decode('utf-8')
        for line in text.split('\n'):
            words = [t.decode('utf-8').rsplit('/', 1)[0] for t in line.encode('utf-8').split()]
            if words:
                lines.append(' '.join(words) + '\n')
    return ''.join(lines)


def main():
    dump, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    out = subprocess.run([dump, mode] + args, check=True, capture_output=True, text=True).stdout.split('\n')
    if mode == 'brown':
        got = bytes.fromhex(out[0]).decode('utf-8')
        want = brown_plain(args[0])
        if got != want:
            print('brown plain text differs:\n--- C++\n%s--- Python\n%s' % (got, want))
            return 1
        print('brown: %d lines agree' % want.count('\n'))
        return 0
    path, level = args[0], args[1]
    fractions = [float(f) for f in args[2:5]]
    vocab, ids = expected_text(path, level, fractions, int(args[5]), int(args[6]))
    i_train = out.index('train')
    got_vocab = [bytes.fromhex(h).decode('utf-8') for h in out[1:i_train]]
    got_ids = [[int(x) for x in out[i_train + 1 + 2 * k].split()] for k in range(3)]
    ok = True
    if got_vocab != vocab:
        print('vocabulary differs:\n  C++    %r\n  Python %r' % (got_vocab, vocab))
        ok = False
    for name, got, want in zip(('train', 'valid', 'test'), got_ids, ids):
        if got != want:
            print('%s ids differ:\n  C++    %s\n  Python %s' % (name, got[:50], want[:50]))
            ok = False
    if ok:
        print('%s level: V = %d, splits of %s tokens agree' % (level, len(vocab), [len(x) for x in ids]))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
