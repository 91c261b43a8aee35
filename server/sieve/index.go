package sieve

// The index extension (RFC 5260 section 6): :index N [:last] makes the
// header, address and date tests look at the Nth field of each name,
// counted from the top, or from the bottom with :last.

var indexTags = []tagSpec{
	{name: "index", val: valNumber, ext: "index"},
	{name: "last", ext: "index"},
}

// fieldIndex is the :index of a test; zero n means every field.
type fieldIndex struct {
	n    int
	last bool
}

func (c *compiler) fieldIndex(b *bound) (fieldIndex, error) {
	a, ok := b.tags["index"]
	if !ok {
		if b.has("last") {
			return fieldIndex{}, errorf(b.pos, "%s: :last needs :index", b.name)
		}
		return fieldIndex{}, nil
	}
	if a.Num < 1 {
		return fieldIndex{}, errorf(a.Pos, "%s: :index must be 1 or more", b.name)
	}
	return fieldIndex{n: int(a.Num), last: b.has("last")}, nil
}

// pick keeps the field the index names (none when there are fewer).
func (x fieldIndex) pick(vals []string) []string {
	if x.n == 0 {
		return vals
	}
	i := x.n - 1
	if x.last {
		i = len(vals) - x.n
	}
	if i < 0 || i >= len(vals) {
		return nil
	}
	return vals[i : i+1]
}
