#!/bin/sh
# Regenerates sluice.patch: run from server/internal/go-imap.
up=$(go env GOMODCACHE)/github.com/emersion/go-imap/v2@v2.0.0-beta.8
[ -d "$up" ] || (cd /tmp && go mod download github.com/emersion/go-imap/v2@v2.0.0-beta.8 >/dev/null)
diff -ruN -x README.md -x LICENSE -x go.sum -x '*_test.go' -x cmd -x imapmemserver \
	-x .build.yml -x .github -x sluice.patch -x mkpatch.sh "$up" . |
	sed -e '/^diff -ruN/d' -e 's|^--- [^ \t]*/go-imap/v2@v2.0.0-beta.8/\([^\t]*\).*|--- a/\1|' \
		-e 's|^+++ \./\([^\t]*\).*|+++ b/\1|' >sluice.patch
