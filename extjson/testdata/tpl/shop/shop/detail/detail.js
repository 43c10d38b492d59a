Page({
  onLoad() {
    wx.getLocation({ type: 'gcj02' })
  }
})
