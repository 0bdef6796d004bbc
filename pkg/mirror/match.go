package mirror

import (
	"k8s.io/apimachinery/pkg/api/resource"
)

// Matches reports whether every field of desired has the same value in live. Fields only live has
// (defaults and status the API server added) do not count here: fields another manager added on
// DR are found from the managed fields (ForeignManagers). Numbers compare by value, since the API
// server normalizes them; quantities compare by amount only inside resource lists (requests,
// limits, capacity, overhead, a quota's hard), where the schema says quantity: "1" and "1000m"
// in ConfigMap data are different values.
func Matches(desired, live any) bool { return matches(desired, live, false) }

// quantityKeys hold resource lists, whose values are quantities.
var quantityKeys = map[string]bool{"requests": true, "limits": true, "capacity": true, "allocatable": true, "overhead": true, "hard": true}

func matches(desired, live any, quantities bool) bool {
	switch d := desired.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return len(d) == 0 && live == nil
		}
		for k, dv := range d {
			lv, found := l[k]
			if !found {
				if isEmpty(dv) {
					continue
				}
				return false
			}
			if !matches(dv, lv, quantities || quantityKeys[k]) {
				return false
			}
		}
		return true
	case []any:
		l, ok := live.([]any)
		if !ok {
			return len(d) == 0 && live == nil
		}
		if len(d) != len(l) {
			return false
		}
		for i := range d {
			if !matches(d[i], l[i], false) {
				return false
			}
		}
		return true
	case string:
		l, ok := live.(string)
		if !ok {
			return false
		}
		return d == l || (quantities && sameQuantity(d, l))
	case int64, int, int32, float64:
		dn, ok1 := number(d)
		ln, ok2 := number(live)
		return ok1 && ok2 && dn == ln
	case nil:
		return true
	default:
		return desired == live
	}
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func sameQuantity(a, b string) bool {
	qa, err := resource.ParseQuantity(a)
	if err != nil {
		return false
	}
	qb, err := resource.ParseQuantity(b)
	return err == nil && qa.Cmp(qb) == 0
}
