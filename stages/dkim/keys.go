package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// MinRSABits is the smallest RSA key accepted for signing (RFC 8301
// section 3.2: signers MUST use at least 1024 bits, SHOULD use 2048).
const MinRSABits = 1024

// ErrKeyFormat is wrapped by every key-parsing error.
var ErrKeyFormat = errors.New("dkim: unrecognised private key")

// LoadKey reads a private key file; see ParseKey for the formats.
func LoadKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dkim key: %w", err)
	}
	k, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParseKey parses a DKIM private key: PEM "RSA PRIVATE KEY" (PKCS#1) or
// "PRIVATE KEY" (PKCS#8, RSA or Ed25519), or a bare base64 Ed25519 key as
// RFC 8463 and dkimpy write it (the 32-byte seed, or the 64-byte seed and
// public key).
func ParseKey(data []byte) (crypto.Signer, error) {
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return parsePEM(data)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(data)), ""))
	if err != nil {
		return nil, fmt.Errorf("%w: neither PEM nor base64: %v", ErrKeyFormat, err)
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		k := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
		if !bytes.Equal(k, raw) {
			return nil, fmt.Errorf("%w: Ed25519 public half does not match the seed", ErrKeyFormat)
		}
		return k, nil
	}
	return nil, fmt.Errorf("%w: %d bytes of base64 is not an Ed25519 seed", ErrKeyFormat, len(raw))
}

func parsePEM(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%w: no PEM private key block", ErrKeyFormat)
		}
		switch block.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: PKCS#1: %v", ErrKeyFormat, err)
			}
			return checkKey(k)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%w: PKCS#8: %v", ErrKeyFormat, err)
			}
			s, ok := k.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("%w: PKCS#8 key of type %T", ErrKeyFormat, k)
			}
			return checkKey(s)
		}
		// Other blocks (parameters, certificates) are skipped.
	}
}

// checkKey accepts the key types DKIM defines (RFC 6376 rsa, RFC 8463
// ed25519) and refuses RSA keys below MinRSABits.
func checkKey(k crypto.Signer) (crypto.Signer, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < MinRSABits {
			return nil, fmt.Errorf("%w: RSA key of %d bits, want at least %d (RFC 8301)", ErrKeyFormat, bits, MinRSABits)
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("%w: key type %T is not RSA or Ed25519", ErrKeyFormat, k)
}

// keyAlgorithm returns the k= name of a key: "rsa" or "ed25519".
func keyAlgorithm(pub crypto.PublicKey) string {
	if _, ok := pub.(ed25519.PublicKey); ok {
		return "ed25519"
	}
	return "rsa"
}
