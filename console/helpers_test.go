package console_test

import "github.com/miniship/miniship/service"

func decision(result string) service.Decision { return service.Decision{Result: result} }
