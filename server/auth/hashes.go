package auth

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"regexp"
	"strconv"
	"strings"

	"github.com/GehirnInc/crypt"
	_ "github.com/GehirnInc/crypt/md5_crypt"    // $1$ for {MD5-CRYPT}
	_ "github.com/GehirnInc/crypt/sha256_crypt" // $5$ for {SHA256-CRYPT}
	_ "github.com/GehirnInc/crypt/sha512_crypt" // $6$ for {SHA512-CRYPT}
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// A stored password is either sluice's own bcrypt hash (bare "$2a$...") or
// a hash imported from another server, kept in Dovecot's notation
// "{SCHEME}hash" (https://doc.dovecot.org/configuration_manual/authentication/password_schemes/)
// so that users keep their passwords across a migration. Foreign hashes
// are verified here and, on the first successful login, replaced by a
// bcrypt hash of the same password (see Accounts.SetRehash).

// schemeCheckers maps each supported Dovecot scheme to its verifier. A
// verifier returns whether pass matches, or an error when the hash itself
// is malformed.
var schemeCheckers = map[string]func(hash, pass string) (bool, error){
	"BLF-CRYPT":    checkCrypt,
	"SHA512-CRYPT": checkCrypt,
	"SHA256-CRYPT": checkCrypt,
	"MD5-CRYPT":    checkCrypt,
	"CRYPT":        checkCrypt, // crypt(3): the $N$ prefix names the algorithm
	"ARGON2ID":     checkArgon2,
	"ARGON2I":      checkArgon2,
	"SSHA":         saltedDigest(sha1.New),
	"SSHA256":      saltedDigest(sha256.New),
	"SSHA512":      saltedDigest(sha512.New),
	"SHA":          plainDigest(sha1.New),
	"SHA1":         plainDigest(sha1.New),
	"SHA256":       plainDigest(sha256.New),
	"SHA512":       plainDigest(sha512.New),
	"PLAIN-MD5":    plainDigest(md5.New),
	"PLAIN":        checkPlain,
	"CLEARTEXT":    checkPlain,
}

// SplitScheme splits a stored hash into its scheme and the hash proper.
// A hash without "{SCHEME}" is crypt(3) notation, as Dovecot's default
// scheme CRYPT reads it; sluice's own bcrypt hashes are of that form.
func SplitScheme(stored string) (scheme, rest string) {
	if strings.HasPrefix(stored, "{") {
		if end := strings.IndexByte(stored, '}'); end > 0 {
			return strings.ToUpper(stored[1:end]), stored[end+1:]
		}
	}
	return "CRYPT", stored
}

// CheckHash reports whether stored is a hash sluice can verify: a known
// scheme, well formed. Importers use it to refuse to enable an account
// whose password nobody could ever type (or anybody could).
func CheckHash(stored string) error {
	scheme, rest := SplitScheme(stored)
	check, _, err := checker(scheme)
	if err != nil {
		return err
	}
	if scheme == "PLAIN" || scheme == "CLEARTEXT" {
		if rest == "" {
			return fmt.Errorf("auth: empty {%s} password", scheme)
		}
		return nil
	}
	// The costly schemes are parsed, not run: a probe of a 64 MiB argon2
	// hash per account would make an import of many users crawl.
	switch {
	case strings.HasPrefix(rest, "$2"):
		_, err := bcrypt.Cost([]byte(rest))
		return err
	case strings.HasPrefix(scheme, "ARGON2"):
		_, err := parseArgon2(rest)
		return err
	case strings.HasPrefix(rest, "$1$") || strings.HasPrefix(rest, "$5$") || strings.HasPrefix(rest, "$6$"):
		return checkCryptForm(rest)
	}
	_, err = check(rest, "\x00sluice-probe")
	return err
}

// checker returns the verifier of scheme, which may carry Dovecot's
// encoding suffix (".B64", ".HEX"); encoding is that suffix or "".
func checker(scheme string) (func(hash, pass string) (bool, error), string, error) {
	name, enc, _ := strings.Cut(scheme, ".")
	check, ok := schemeCheckers[name]
	digest := strings.HasPrefix(name, "SHA") || strings.HasPrefix(name, "SSHA") || name == "PLAIN-MD5"
	if !ok || (enc != "" && (!digest || (enc != "B64" && enc != "BASE64" && enc != "HEX"))) {
		return nil, "", fmt.Errorf("auth: unsupported password scheme {%s}", scheme)
	}
	if enc != "" {
		base := check
		check = func(h, p string) (bool, error) {
			if enc == "HEX" {
				raw, err := hex.DecodeString(h)
				if err != nil {
					return false, fmt.Errorf("auth: {%s}: %w", scheme, err)
				}
				h = base64.StdEncoding.EncodeToString(raw)
			}
			return base(h, p)
		}
	}
	return check, enc, nil
}

// verifyHash reports whether pass matches stored. A malformed hash or an
// unknown scheme never matches.
func verifyHash(stored, pass string) bool {
	scheme, rest := SplitScheme(stored)
	check, _, err := checker(scheme)
	if err != nil {
		return false
	}
	ok, err := check(rest, pass)
	return err == nil && ok
}

// isForeign reports whether stored is not sluice's own bcrypt form, so a
// successful login should replace it.
func isForeign(stored string) bool { return strings.HasPrefix(stored, "{") }

// checkCrypt verifies crypt(3) strings: bcrypt ($2a$, $2b$, $2y$) and
// the SHA-crypt and MD5-crypt families ($6$, $5$, $1$).
func checkCrypt(h, pass string) (bool, error) {
	if strings.HasPrefix(h, "$2") {
		err := bcrypt.CompareHashAndPassword([]byte(h), []byte(pass))
		if err == bcrypt.ErrMismatchedHashAndPassword {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("auth: bcrypt hash: %w", err)
		}
		return true, nil
	}
	for _, p := range []string{"$1$", "$5$", "$6$"} {
		if strings.HasPrefix(h, p) {
			if !crypt.IsHashSupported(h) {
				break
			}
			if strings.Count(h, "$") < 3 {
				return false, fmt.Errorf("auth: malformed crypt hash %.3s…", h)
			}
			return crypt.NewFromHash(h).Verify(h, []byte(pass)) == nil, nil
		}
	}
	return false, fmt.Errorf("auth: unsupported crypt(3) hash form %.4q", h)
}

// cryptForm is the shape of MD5-crypt and SHA-crypt strings: $N$, an
// optional rounds=R$ (SHA-crypt), a salt of up to 16 characters, $, and
// the hash in crypt's base64 of the length each algorithm gives.
var cryptForm = regexp.MustCompile(`^\$(1|5|6)\$(rounds=[0-9]{1,9}\$)?[^$:\s]{0,16}\$([./0-9A-Za-z]+)$`)

// checkCryptForm checks a crypt string's shape without running its
// thousands of rounds.
func checkCryptForm(h string) error {
	m := cryptForm.FindStringSubmatch(h)
	if m == nil || (m[1] == "1" && m[2] != "") || len(m[3]) != map[string]int{"1": 22, "5": 43, "6": 86}[m[1]] {
		return fmt.Errorf("auth: malformed crypt hash %.3s…", h)
	}
	return nil
}

// checkArgon2 verifies a PHC string as Dovecot writes it:
// $argon2id$v=19$m=65536,t=3,p=1$SALT$HASH (unpadded base64).
func checkArgon2(h, pass string) (bool, error) {
	a, err := parseArgon2(h)
	if err != nil {
		return false, err
	}
	kdf := argon2.Key
	if a.id {
		kdf = argon2.IDKey
	}
	got := kdf([]byte(pass), a.salt, a.t, a.m, a.p, uint32(len(a.hash)))
	return subtle.ConstantTimeCompare(got, a.hash) == 1, nil
}

// argon2Hash is a parsed PHC string.
type argon2Hash struct {
	id         bool // argon2id, else argon2i
	m, t       uint32
	p          uint8
	salt, hash []byte
}

func parseArgon2(h string) (argon2Hash, error) {
	var a argon2Hash
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[0] != "" || (parts[1] != "argon2id" && parts[1] != "argon2i") {
		return a, fmt.Errorf("auth: malformed argon2 hash")
	}
	if parts[2] != "v=19" {
		return a, fmt.Errorf("auth: argon2 version %q not supported", parts[2])
	}
	a.id = parts[1] == "argon2id"
	var m, t, p uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return a, fmt.Errorf("auth: argon2 parameter %q: %w", kv, err)
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			p = n
		}
	}
	// Bounds keep a hostile accounts file from making a login allocate
	// gigabytes: 4 GiB of memory and 255 lanes are argon2's own limits.
	if m == 0 || t == 0 || p == 0 || p > 255 || m > 4<<20 || t > 1000 {
		return a, fmt.Errorf("auth: argon2 parameters %q out of range", parts[3])
	}
	a.m, a.t, a.p = uint32(m), uint32(t), uint8(p)
	var err1, err2 error
	a.salt, err1 = base64.RawStdEncoding.DecodeString(parts[4])
	a.hash, err2 = base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(a.hash) < 4 {
		return a, fmt.Errorf("auth: argon2 salt or hash is not base64")
	}
	return a, nil
}

// saltedDigest verifies {SSHA*}: base64(digest(pass || salt) || salt).
func saltedDigest(newHash func() hash.Hash) func(h, pass string) (bool, error) {
	return func(h, pass string) (bool, error) {
		raw, err := base64.StdEncoding.DecodeString(h)
		size := newHash().Size()
		if err != nil || len(raw) <= size {
			return false, fmt.Errorf("auth: salted digest is not base64 of digest+salt")
		}
		d := newHash()
		d.Write([]byte(pass))
		d.Write(raw[size:])
		return subtle.ConstantTimeCompare(d.Sum(nil), raw[:size]) == 1, nil
	}
}

// plainDigest verifies unsalted digests ({SHA*} in base64, {PLAIN-MD5} in
// hex as Dovecot writes it; either encoding is accepted).
func plainDigest(newHash func() hash.Hash) func(h, pass string) (bool, error) {
	return func(h, pass string) (bool, error) {
		d := newHash()
		size := d.Size()
		raw, err := base64.StdEncoding.DecodeString(h)
		if err != nil || len(raw) != size {
			if raw, err = hex.DecodeString(h); err != nil || len(raw) != size {
				return false, fmt.Errorf("auth: digest is neither base64 nor hex of %d bytes", size)
			}
		}
		d.Write([]byte(pass))
		return subtle.ConstantTimeCompare(d.Sum(nil), raw) == 1, nil
	}
}

// checkPlain compares a cleartext password in constant time.
func checkPlain(h, pass string) (bool, error) {
	if h == "" {
		return false, fmt.Errorf("auth: empty cleartext password")
	}
	return subtle.ConstantTimeCompare([]byte(h), []byte(pass)) == 1, nil
}
