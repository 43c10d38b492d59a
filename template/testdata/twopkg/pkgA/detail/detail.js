Page({ pick() { wx['chooseAddress']({}) } })
