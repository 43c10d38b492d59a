Page({
  onShow() {
    wx.getLocation({ type: "gcj02" })
    wx . onLocationChange(() => {})
  }
})
