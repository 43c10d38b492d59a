Page({ data: { items: [] } })
