package javatime_test

import (
	"fmt"
	"time"

	"github.com/pollhook/pollhook/internal/javatime"
)

func Example() {
	// A datesConfiguration such as updatedDateFormat "yyyy-MM-dd HH:mm:ss"
	// with updatedDateTimezone "GMT".
	p, err := javatime.Compile("yyyy-MM-dd HH:mm:ss")
	if err != nil {
		panic(err)
	}
	updated, err := p.Parse("2024-07-04 12:08:56", time.UTC)
	if err != nil {
		panic(err)
	}
	fmt.Println(updated)

	iso := javatime.MustCompile("yyyy-MM-dd'T'HH:mm:ss.SSSXXX")
	denver, _ := time.LoadLocation("America/Denver")
	fmt.Println(iso.Format(updated.In(denver)))

	_, err = javatime.Compile("yyyy-MM-ddTHH:mm:ss")
	fmt.Println(err)
	// Output:
	// 2024-07-04 12:08:56 +0000 UTC
	// 2024-07-04T06:08:56.000-06:00
	// compile "yyyy-MM-ddTHH:mm:ss": illegal pattern character 'T' at offset 10
}

func ExamplePattern_Parse() {
	p := javatime.MustCompile("EEE, d MMM yyyy HH:mm:ss Z")
	t, err := p.Parse("Wed, 4 Jul 2001 12:08:56 -0700", nil)
	fmt.Println(t.UTC(), err)

	_, err = javatime.MustCompile("yyyy-MM-dd").Parse("2024-13-01", nil)
	fmt.Println(err)
	// Output:
	// 2001-07-04 19:08:56 +0000 UTC <nil>
	// parse "2024-13-01" as "yyyy-MM-dd": month 13 out of range at offset 5
}
