package chatarchitect_test

import (
	"fmt"

	"nudge/internal/chatarchitect"
)

func ExampleDecode() {
	body := []byte(`{"app":"DemoApp","timestamp":1580546677791,"version":2,"type":"message-event",
	 "payload":{"id":"gBEGkYaYVSEEAgnZxQ3JmKK6Wvg","gsId":"ee4a68a0-1203-4c85-8dc3-49d0b3226a35",
	   "type":"failed","destination":"254712345678",
	   "payload":{"code":1002,"reason":"Number Does Not Exist On WhatsApp"}}}`)
	w, err := chatarchitect.Decode(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	switch w.Type {
	case chatarchitect.TypeMessageEvent:
		fmt.Println(w.Event.MessageID, w.Event.Status, w.Event.Code, w.Event.Reason)
	case chatarchitect.TypeMessage:
		fmt.Println(w.Message.From, w.Message.Text)
	default:
		fmt.Println("ignored", w.Type) // answer 200 anyway
	}
	// Output: ee4a68a0-1203-4c85-8dc3-49d0b3226a35 failed 1002 Number Does Not Exist On WhatsApp
}

func ExampleClassOf() {
	err := error(&chatarchitect.Error{Class: chatarchitect.Transient, StatusCode: 429, Message: "send: Too Many Requests"})
	switch chatarchitect.ClassOf(err) {
	case chatarchitect.Transient:
		fmt.Println("retry later") // after Error.RetryAfter when it is set
	case chatarchitect.Permanent:
		fmt.Println("give up on this message")
	case chatarchitect.Auth:
		fmt.Println("pause sending and alert")
	}
	// Output: retry later
}
