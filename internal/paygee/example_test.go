package paygee_test

import (
	"context"
	"fmt"

	"nudge/internal/paygee"
	"nudge/internal/sandbox"
)

func ExampleClient_FindCustomer() {
	fake, err := sandbox.StartPaygee(sandbox.PaygeeOptions{APIKey: "key", Customers: []sandbox.PaygeeCustomer{
		{"id": "C-311", "name": "Amina Otieno", "phone": "+254712345678"},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fake.Close()
	client := paygee.New(paygee.Config{BaseURL: fake.URL(), APIKey: "key"})

	for _, id := range []string{"C-311", "C-999"} {
		c, found, err := client.FindCustomer(context.Background(), id)
		switch {
		case err != nil:
			fmt.Println("retry or give up, as paygee.ClassOf(err) says:", err)
		case !found:
			fmt.Println(id, "no such customer") // an answer, not an error
		default:
			fmt.Println(c.ID(), c["name"], c.Phone())
		}
	}
	// Output:
	// C-311 Amina Otieno +254712345678
	// C-999 no such customer
}

func ExampleClient_DescribeUpdate() {
	client := paygee.New(paygee.Config{BaseURL: "https://paygee.example/api/v1", APIKey: "key"})
	req := client.DescribeUpdate("C-311", map[string]any{"state": "blocked"})
	fmt.Println(req.Method, req.URL, req.Body)
	// Output: PATCH https://paygee.example/api/v1/customers/C-311 map[state:blocked]
}

func ExampleClassOf() {
	err := error(&paygee.Error{Class: paygee.Auth, StatusCode: 401, Message: "find customer: unauthorized"})
	switch paygee.ClassOf(err) {
	case paygee.Transient:
		fmt.Println("retry later") // after Error.RetryAfter when it is set
	case paygee.Permanent:
		fmt.Println("fail this step")
	case paygee.Auth:
		fmt.Println("stop calling Paygee and alert")
	}
	// Output: stop calling Paygee and alert
}
