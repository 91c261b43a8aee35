package engine

import (
	"reflect"
	"slices"
)

// maxShownText bounds long text facts in explanations.
const maxShownText = 200

// FactsMap returns the named namespaces of f as plain maps keyed by the
// names rules use (the expr tags), for `sluice check --facts` and JSON
// output. Functions are left out; long text is shortened.
func FactsMap(f *Facts, namespaces []string) map[string]any {
	out := map[string]any{}
	v := reflect.ValueOf(f).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name := t.Field(i).Tag.Get("expr")
		if name == "" || !slices.Contains(namespaces, name) || t.Field(i).Type.Kind() == reflect.Func {
			continue
		}
		out[name] = plain(v.Field(i))
	}
	return out
}

func plain(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Struct:
		m := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			name := f.Tag.Get("expr")
			if name == "" || f.Type.Kind() == reflect.Func {
				continue
			}
			m[name] = plain(v.Field(i))
		}
		return m
	case reflect.Slice:
		if v.IsNil() {
			return []any{}
		}
		s := make([]any, v.Len())
		for i := range s {
			s[i] = plain(v.Index(i))
		}
		return s
	case reflect.String:
		if s := v.String(); len(s) > maxShownText {
			return s[:maxShownText] + "…"
		}
	}
	return v.Interface()
}
