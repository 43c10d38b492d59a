// The merchant's settings come from ext_json through ext.json.
const ext = wx.getExtConfigSync ? wx.getExtConfigSync() : {}
App({ globalData: { shopName: ext.shopName || 'Demo Shop', theme: ext.theme || 'green' } })
