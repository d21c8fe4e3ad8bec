module github.com/pollhook/pollhook

go 1.26
