Page({
  // wx.getFuzzyLocation() is only a comment
  tip: "call wx.chooseLocation() later",
})
