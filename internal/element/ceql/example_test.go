package ceql_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pollhook/pollhook/internal/element/ceql"
)

func Example() {
	where := `updated_after_utc='2018-02-21 07:31:45' and (LAST_NAME like 'o''b%' OR tag='VIP')`
	e, err := ceql.Parse(where)
	if err != nil {
		panic(err)
	}
	fmt.Println(e)

	// Push the conjuncts a provider understands down, evaluate the rest.
	var local []ceql.Expr
	for _, c := range ceql.Conjuncts(e) {
		if cmp, ok := c.(*ceql.Compare); ok && cmp.Field == "updated_after_utc" {
			fmt.Println("push down: updated_after_utc =", cmp.Value.Text())
			continue
		}
		local = append(local, c)
	}

	var rec map[string]any
	_ = json.Unmarshal([]byte(`{"CONTACT_ID": 1, "LAST_NAME": "O'Brien", "DATE_UPDATED_UTC": "2018-03-01 10:00:00"}`), &rec)
	get := func(field string) (any, bool) { v, ok := rec[field]; return v, ok }
	for _, c := range local {
		ok, err := ceql.Eval(c, get)
		fmt.Printf("%s → %v %v\n", c, ok, err)
	}

	_, err = ceql.Parse("a=1 b=2")
	var perr *ceql.Error
	if errors.As(err, &perr) {
		fmt.Println(perr)
		fmt.Println(perr.Snippet())
	}
	// Output:
	// updated_after_utc = '2018-02-21 07:31:45' AND (LAST_NAME LIKE 'o''b%' OR tag = 'VIP')
	// push down: updated_after_utc = 2018-02-21 07:31:45
	// LAST_NAME LIKE 'o''b%' OR tag = 'VIP' → true <nil>
	// ceql: at offset 4: expected AND or OR, found "b"
	// a=1 b=2
	//     ^
}
