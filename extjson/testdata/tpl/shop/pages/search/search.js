Page({
  pick() {
    wx.chooseLocation({ success: (r) => this.setData({ r }) })
  }
})
